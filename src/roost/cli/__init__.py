"""The command line: a thin layer over the library.  Nothing in the library imports this package."""
