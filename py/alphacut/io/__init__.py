"""The edges: encoded bytes in (:mod:`.decode`), encoded bytes out (:mod:`.encode`), and the
RGBA or flattened image between them (:mod:`.composite`)."""
