"""Where inference runs: the browser worker's entry (:mod:`.worker_api`), ONNX Runtime in CPython
(:mod:`.ort_backend`), and the graph preparation both use (:mod:`.prepare_graph`)."""
