"""The benchmarks of spacy-lstm-tagger: each module runs from the repository root as
`python -m benchmarks.NAME` (benchmarks/README.md lists them), and BENCHMARKS.md is
written from the result files in benchmarks/results/ by `python -m benchmarks.render`."""
