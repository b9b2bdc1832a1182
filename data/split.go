package data

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Split shuffles d with a PCG generator seeded by seed and divides it into
// a training and a test set. The test set gets round(testFraction·Len())
// samples, clamped to [1, Len()-1]; testFraction must lie in (0, 1) and d
// must hold at least 2 samples.
//
// Classification data sets are split stratified: each class contributes to
// the test set in proportion to its size (largest-remainder rounding), so
// class frequencies in train and test match those of d as closely as
// possible. Rows of both outputs appear in shuffled order; their X and Y
// are fresh copies. The result is a pure function of (d, testFraction,
// seed).
func Split(d *Dataset, testFraction float64, seed uint64) (train, test *Dataset, err error) {
	if d == nil {
		return nil, nil, fmt.Errorf("data: Split: nil dataset")
	}
	if !(testFraction > 0 && testFraction < 1) {
		return nil, nil, fmt.Errorf("data: Split %q: test fraction %v not in (0, 1)", d.Name, testFraction)
	}
	if err := d.Validate(); err != nil {
		return nil, nil, fmt.Errorf("data: Split: %w", err)
	}
	n := d.Len()
	if n < 2 {
		return nil, nil, fmt.Errorf("data: Split %q: need at least 2 samples, have %d", d.Name, n)
	}
	nTest := int(math.Round(testFraction * float64(n)))
	nTest = min(max(nTest, 1), n-1)

	// Group every sample: one group per class present (numbered densely, in
	// label order), or a single group for regression.
	group := make([]int, n)
	groups := 1
	if d.Task == Classification {
		labels := make([]int, n)
		for i := range n {
			labels[i] = int(d.Y[i])
		}
		present := slices.Compact(slices.Sorted(slices.Values(labels)))
		for i, l := range labels {
			group[i], _ = slices.BinarySearch(present, l)
		}
		groups = len(present)
	}
	count := make([]int, groups)
	for _, g := range group {
		count[g]++
	}
	// Largest-remainder apportionment of nTest over the groups.
	quota := make([]int, groups)
	rem := make([]float64, groups)
	assigned := 0
	for g, c := range count {
		exact := float64(nTest) * float64(c) / float64(n)
		quota[g] = int(math.Floor(exact))
		rem[g] = exact - float64(quota[g])
		assigned += quota[g]
	}
	order := make([]int, groups)
	for g := range order {
		order[g] = g
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for assigned < nTest {
		for _, g := range order {
			if assigned == nTest {
				break
			}
			if quota[g] < count[g] {
				quota[g]++
				assigned++
			}
		}
	}

	rng := rand.New(rand.NewPCG(seed, 0x5eed5b11)) // second word: fixed stream id for Split
	perm := rng.Perm(n)
	trainRows := make([]int, 0, n-nTest)
	testRows := make([]int, 0, nTest)
	for _, i := range perm {
		g := group[i]
		if quota[g] > 0 {
			quota[g]--
			testRows = append(testRows, i)
		} else {
			trainRows = append(trainRows, i)
		}
	}
	return d.subset(d.Name+"/train", trainRows), d.subset(d.Name+"/test", testRows), nil
}
