// Package secaggbeam runs the engine's mergeable aggregates on Apache Beam, for rounds
// that outgrow one coordinator: CombineFns whose accumulators are the engine's own
// (float64 sums and weight totals, trimmedmean.Stream), each carried between workers
// in a documented, versioned binary encoding. A round of .npy files runs by coordinate
// blocks (AggregateFiles): the sums combine per block, the strategies that need every
// update of a block at once group its rows on one worker, Krum and Bulyan select from
// the blocks' summed distance matrices, norm_bounded_mean and dp_mean take each
// client's norm in a pass of its own, and the geometric median and centered clipping
// run one pipeline per step from their drivers (GeometricMedian, CenteredClipping). A
// secure round's unmasking is sharded the same way (Unmask): its masked vectors summed
// mod 2^b per block (WordsSumFn), each block unmasked where it is summed. Prism runs
// them in process for tests; Dataflow, Flink and Spark runners in production. COSTS.md
// sizes a cluster.
//
// It is a module of its own so that Beam's dependency tree stays out of the library's,
// and it stays out of the repository's go.work for the same reason: in a workspace
// Beam's requirements would raise the versions the library itself is tested with
// (golang.org/x/sys among them). It builds with GOWORK=off against the library beside
// it (a replace directive).
package secaggbeam
