// Package tensor provides Tensor: a shape, an element type and a buffer on
// one device.
//
// Layout. Tensors are row-major. A 2-D [K × N] tensor holds K samples of N
// features, sample k at elements [k·N, (k+1)·N). Higher-rank tensors are
// treated as Rows × Cols matrices, Cols being the last dimension:
//
//	shape [2 3 4]  →  Rows 6, Cols 4
//	           ┌──── Cols ────┐
//	  row 0    a000 a001 a002 a003
//	  row 1    a010 a011 a012 a013
//	  ...
//	  row 5    a120 a121 a122 a123
//
// Data moves between Go slices and the device only through FromFloat32,
// FromFloat64, Float32s, Float64s and Item.
package tensor
