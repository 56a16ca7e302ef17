"""Private helpers that more than one subpackage uses: colour spaces, timing."""
