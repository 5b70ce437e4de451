package graph

// Metadata keys (Model.Meta, ONNX metadata_props) that image tools read
// (Windows ML's image feature descriptors, also read by Netron): the pixel
// format and the nominal range of the input's pixel values. Our export writes
// Gray8 and Normalized_0_1; the classify package reads the range.
const (
	MetaPixelFormat = "Image.BitmapPixelFormat"
	MetaPixelRange  = "Image.NominalPixelRange"
)

// Values of MetaPixelRange: pixels in [0,1], [0,255] and [-1,1].
const (
	PixelRangeNormalized01 = "Normalized_0_1"
	PixelRangeNominal0255  = "NominalRange_0_255"
	PixelRangeNormalized11 = "Normalized_1_1"
)
