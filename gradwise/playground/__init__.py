"""The gradient playground: train a small network on 2-D data live in the browser and watch its
gradients (``gradwise playground``).

The engine (:mod:`~gradwise.playground.settings`, :mod:`~gradwise.playground.recipe`,
:mod:`~gradwise.playground.engine`, :mod:`~gradwise.playground.views`,
:mod:`~gradwise.playground.presets`, :mod:`~gradwise.playground.export`) is gradwise and NumPy
only.  The web server (:mod:`gradwise.playground.server`) needs the ``[playground]`` extra
(Starlette and uvicorn) and is imported only by ``gradwise playground``; importing this package
imports neither.
"""
