// Package data provides small in-memory data sets for training and
// evaluating models: two embedded real data sets, a CSV loader, a seeded
// train/test split, a per-column standardizer and a minibatch iterator.
//
// # Memory layout
//
// A Dataset holds n = Len() samples in two flat, row-major float32 slices:
//
//	X: n × Features      sample i's features are X[i*Features : (i+1)*Features]
//	Y: classification    n values; Y[i] is sample i's class index 0..Classes-1
//	   regression        n × Targets; sample i's targets are Y[i*Targets : (i+1)*Targets]
//
// Batcher.Next returns batches in the same layout, with k rows.
//
// # Built-in data sets
//
// Digits (classification, 1797 × 64, 10 classes) and Diabetes (regression,
// 442 × 10, 1 target) are embedded gzipped, so no download is needed. They
// come from the UCI Machine Learning Repository (E. Alpaydin and C. Kaynak,
// 1998, CC BY 4.0) and from Efron, Hastie, Johnstone and Tibshirani (2004),
// "Least Angle Regression", both as shipped by scikit-learn (BSD-3-Clause).
// See embedded/ATTRIBUTION.md, also returned by Attribution, for the full
// attribution, which must accompany any copy.
//
// # Reproducibility
//
// Split and Batcher take a seed and use math/rand/v2's PCG generator, so
// their output is a pure function of their inputs and the seed. A Batcher's
// position can be saved with State and restored with Restore to resume
// training exactly.
package data
