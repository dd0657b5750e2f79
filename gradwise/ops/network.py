"""(family being written)"""
