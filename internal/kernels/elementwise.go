package kernels

// BinaryRow sets y = x op s (or s op x when swap).
func BinaryRow[T Float](kind string, swap bool, x, s, y []T) {
	s, y = s[:len(x)], y[:len(x)]
	switch {
	case kind == "Add":
		for i, v := range x {
			y[i] = v + s[i]
		}
	case kind == "Mul":
		for i, v := range x {
			y[i] = v * s[i]
		}
	case kind == "Sub" && !swap:
		for i, v := range x {
			y[i] = v - s[i]
		}
	case kind == "Sub":
		for i, v := range x {
			y[i] = s[i] - v
		}
	case kind == "Div" && !swap:
		for i, v := range x {
			y[i] = v / s[i]
		}
	default:
		for i, v := range x {
			y[i] = s[i] / v
		}
	}
}
