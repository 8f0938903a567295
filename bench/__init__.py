"""The evaluation harness of msme-rag: public benchmarks and the sample-corpus question set."""
