"""The search query language: a parser producing a positioned syntax tree, and its SQL compilers."""
