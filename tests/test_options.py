"""The option validator: one wording for every options class and keyword option."""
import pytest

from alphacut.options import Integer, Number


@pytest.mark.parametrize("spec, value, message", [
    ("number", float("nan"), r"x must be a number in \[0, 1\], got nan"),
    ("number", True, r"x must be a number in \[0, 1\], got True"),
    ("integer", 2.0, r"x must be an integer in \[0, 1\], got 2.0"),
    ("integer", -1, r"x must be an integer in \[0, 1\], got -1"),
])
def test_number_and_integer_options_refuse(spec, value, message):
    with pytest.raises(ValueError, match=message):
        {"number": Number, "integer": Integer}[spec](0, 1).check("x", value)
