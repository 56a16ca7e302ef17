"""Root conftest: keep pytest's doctest collection away from the CLI's ``__main__``."""
collect_ignore = ["py/alphacut/__main__.py"]
