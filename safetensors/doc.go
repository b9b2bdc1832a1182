// Package safetensors reads and writes the Hugging Face safetensors format,
// a simple, safe container for named tensors (no code execution on load,
// every byte accounted for).
//
// # Byte layout
//
//	offset 0        8                         8+N                          end
//	       +--------+-------------------------+-----------------------------+
//	       |   N    |  JSON header (N bytes)  |  data buffer                |
//	       +--------+-------------------------+-----------------------------+
//	        uint64,  UTF-8, starts with '{',   raw little-endian elements,
//	        little-  may end in spaces that    row-major; tensor t occupies
//	        endian   pad 8+N to a multiple     buffer[begin_t : end_t]
//	                 of 8
//
// The header maps each tensor name to its dtype, shape and byte range in
// the data buffer (offsets relative to the start of the buffer, not of the
// file), plus an optional "__metadata__" object of string values:
//
//	{
//	  "__metadata__": {"format": "pt"},
//	  "bias":   {"dtype": "F32", "shape": [3],    "data_offsets": [0, 12]},
//	  "weight": {"dtype": "F32", "shape": [3, 2], "data_offsets": [12, 36]}
//	}
//
// The byte ranges must tile the buffer exactly: no overlaps, no holes, no
// trailing bytes, and end-begin must equal the product of the shape times
// the dtype's size.
//
// # Dtypes
//
// The standard names BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16,
// I32, U32, F32, I64, U64 and F64 are recognised; tensors of any of them
// are read and written as raw bytes (Tensor.Data). Tensor.Float32 and
// Tensor.Float64 decode F32 and F64 data; FromFloat32 and FromFloat64
// encode it.
//
// # Safety
//
// Read and Parse validate everything listed above, limit the header to
// MaxHeaderSize, never allocate more than the input actually holds plus the
// parsed header, and never panic, whatever the input; the tests fuzz this
// (go test -fuzz FuzzRead ./safetensors). Write is deterministic, so equal
// Files give byte-identical output, and SaveFile replaces a file atomically.
package safetensors
