package data

import (
	"fmt"
	"math/rand/v2"
)

// Batcher yields a Dataset in minibatches, one epoch at a time.
//
// The order of epoch e is a pure function of (seed, e): with shuffling on,
// it is a permutation drawn from a PCG generator seeded with (seed, e);
// with shuffling off it is the dataset order. So training can be resumed
// exactly by saving State and calling Restore.
//
// NewBatcher positions the Batcher at the start of epoch 0. Reset moves to
// the start of the next epoch; SetEpoch jumps to the start of any epoch.
// Two usual loops:
//
//	for epoch := range epochs {
//		b.SetEpoch(uint64(epoch))
//		for x, y, k, ok := b.Next(); ok; x, y, k, ok = b.Next() { ... }
//	}
//
//	for x, y, k, ok := b.Next(); ok; x, y, k, ok = b.Next() { ... }
//	b.Reset() // then the next epoch
//
// Next copies the rows into buffers owned by the Batcher and does not
// allocate. A Batcher is not safe for concurrent use.
type Batcher struct {
	d         *Dataset
	batchSize int
	shuffle   bool
	seed      uint64
	epoch     uint64
	pos       int // index into perm of the next sample
	perm      []int
	pcg       *rand.PCG
	rng       *rand.Rand
	xbuf      []float32
	ybuf      []float32
}

// BatcherState is everything needed to put a Batcher over the same data
// back where it was: the (seed, epoch) pair that fixes the epoch's order
// and the number of samples of that epoch already handed out.
//
// Seed, Shuffle and N are recorded so that Restore can refuse a state taken
// from a differently configured Batcher.
type BatcherState struct {
	Seed    uint64
	Epoch   uint64
	Pos     int  // samples of this epoch already returned by Next
	Shuffle bool // whether the Batcher shuffles
	N       int  // number of samples in the data set
}

// NewBatcher returns a Batcher over d yielding batches of batchSize samples
// (the last batch of an epoch may be shorter). It panics if d is nil or
// batchSize <= 0.
func NewBatcher(d *Dataset, batchSize int, shuffle bool, seed uint64) *Batcher {
	if d == nil {
		panic("data: NewBatcher: nil dataset")
	}
	if batchSize <= 0 {
		panic(fmt.Sprintf("data: NewBatcher: batch size %d, want > 0", batchSize))
	}
	n := d.Len()
	b := &Batcher{
		d:         d,
		batchSize: batchSize,
		shuffle:   shuffle,
		seed:      seed,
		perm:      make([]int, n),
		pcg:       rand.NewPCG(seed, 0),
		xbuf:      make([]float32, min(batchSize, n)*d.Features),
		ybuf:      make([]float32, min(batchSize, n)*d.YWidth()),
	}
	b.rng = rand.New(b.pcg)
	b.SetEpoch(0)
	return b
}

// SetEpoch positions the Batcher at the start of epoch e.
func (b *Batcher) SetEpoch(e uint64) {
	b.epoch = e
	b.pos = 0
	for i := range b.perm {
		b.perm[i] = i
	}
	if b.shuffle {
		b.pcg.Seed(b.seed, e)
		b.rng.Shuffle(len(b.perm), func(i, j int) { b.perm[i], b.perm[j] = b.perm[j], b.perm[i] })
	}
}

// Reset starts the next epoch (Epoch()+1), reshuffling if shuffling is on.
func (b *Batcher) Reset() { b.SetEpoch(b.epoch + 1) }

// Epoch returns the index of the current epoch.
func (b *Batcher) Epoch() uint64 { return b.epoch }

// BatchSize returns the batch size given to NewBatcher.
func (b *Batcher) BatchSize() int { return b.batchSize }

// NumBatches returns the number of batches per epoch, ceil(Len/batchSize).
func (b *Batcher) NumBatches() int {
	if len(b.perm) == 0 {
		return 0
	}
	return (len(b.perm)-1)/b.batchSize + 1 // no overflow for a batch size near MaxInt
}

// Next returns the next batch of the current epoch: x holds k×Features
// values, y holds k labels (classification) or k×Targets values
// (regression), row-major. k equals the batch size except possibly for the
// last batch. ok is false, with nil slices, when the epoch is exhausted.
// The slices are reused: they are valid only until the next call.
func (b *Batcher) Next() (x, y []float32, k int, ok bool) {
	n := len(b.perm)
	if b.pos >= n {
		return nil, nil, 0, false
	}
	k = min(b.batchSize, n-b.pos)
	f, w := b.d.Features, b.d.YWidth()
	x, y = b.xbuf[:k*f], b.ybuf[:k*w]
	for i, r := range b.perm[b.pos : b.pos+k] {
		copy(x[i*f:(i+1)*f], b.d.X[r*f:(r+1)*f])
		copy(y[i*w:(i+1)*w], b.d.Y[r*w:(r+1)*w])
	}
	b.pos += k
	return x, y, k, true
}

// State returns the Batcher's position, for a checkpoint.
func (b *Batcher) State() BatcherState {
	return BatcherState{Seed: b.seed, Epoch: b.epoch, Pos: b.pos, Shuffle: b.shuffle, N: len(b.perm)}
}

// Restore puts the Batcher at the position recorded by State, which must
// come from a Batcher with the same seed and shuffle setting over a data
// set of the same size. The next call to Next then returns exactly what
// the saved Batcher's next call would have returned.
func (b *Batcher) Restore(s BatcherState) error {
	if s.Seed != b.seed || s.Shuffle != b.shuffle {
		return fmt.Errorf("data: Batcher.Restore: state has seed %d, shuffle %v; batcher has seed %d, shuffle %v", s.Seed, s.Shuffle, b.seed, b.shuffle)
	}
	if s.N != len(b.perm) {
		return fmt.Errorf("data: Batcher.Restore: state is for %d samples, batcher has %d", s.N, len(b.perm))
	}
	if s.Pos < 0 || s.Pos > len(b.perm) {
		return fmt.Errorf("data: Batcher.Restore: position %d out of range [0, %d]", s.Pos, len(b.perm))
	}
	b.SetEpoch(s.Epoch)
	b.pos = s.Pos
	return nil
}
