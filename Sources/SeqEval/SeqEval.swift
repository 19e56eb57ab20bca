// The SeqEval module.
