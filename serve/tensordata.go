package serve

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// parseTensorData reads the JSON "data" of a tensor of the given shape, flat or
// nested as the shape, into count values. uint8 requires integers in 0..255;
// otherwise any finite number that fits float32.
func parseTensorData(raw []byte, shape []int, count int, uint8 bool) ([]float32, error) {
	p := dataParser{b: raw, shape: shape, uint8: uint8, out: make([]float32, 0, count), count: count}
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return nil, errors.New(`"data" must be an array`)
	}
	if err := p.array(0); err != nil {
		return nil, err
	}
	if p.space(); p.i != len(p.b) {
		return nil, errors.New(`"data" has trailing bytes`)
	}
	if len(p.out) != count {
		return nil, fmt.Errorf(`"data" has %d values, the shape %v calls for %d`, len(p.out), shape, count)
	}
	return p.out, nil
}

// dataParser reads tensor data from b at i. It accepts only JSON: its white
// space, numbers and arrays.
type dataParser struct {
	b     []byte
	i     int
	shape []int
	uint8 bool
	out   []float32
	count int
}

func (p *dataParser) space() { p.i = skipSpace(p.b, p.i) }

func (p *dataParser) array(depth int) error {
	if depth >= len(p.shape) {
		return fmt.Errorf(`"data" is nested deeper than the shape %v`, p.shape)
	}
	p.i++ // '['
	n, nested := 0, false
	for {
		p.space()
		if p.i >= len(p.b) {
			return errors.New(`"data" ends early`)
		}
		if p.b[p.i] == ']' && n == 0 {
			p.i++
			break
		}
		if p.b[p.i] == '[' {
			if n > 0 && !nested {
				return errors.New(`"data" mixes numbers and arrays`)
			}
			nested = true
			if err := p.array(depth + 1); err != nil {
				return err
			}
		} else {
			if nested {
				return errors.New(`"data" mixes numbers and arrays`)
			}
			if err := p.number(); err != nil {
				return err
			}
		}
		n++
		p.space()
		if p.i >= len(p.b) {
			return errors.New(`"data" ends early`)
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.b[p.i] != ']' {
			return fmt.Errorf(`"data": unexpected %q`, p.b[p.i])
		}
		p.i++
		break
	}
	switch {
	case nested && n != p.shape[depth]:
		return fmt.Errorf(`"data": %d arrays at depth %d, the shape %v calls for %d`, n, depth, p.shape, p.shape[depth])
	case !nested && depth > 0 && (depth != len(p.shape)-1 || n != p.shape[depth]):
		return fmt.Errorf(`"data": %d numbers at depth %d do not follow the shape %v`, n, depth, p.shape)
	}
	return nil
}

func (p *dataParser) number() error {
	start := p.i
	v, n, ok := scanFloat32(p.b[p.i:])
	if n == 0 {
		if p.i < len(p.b) {
			return fmt.Errorf(`"data" holds a non-number at byte %d (%q)`, start, p.b[start])
		}
		return errors.New(`"data" ends early`)
	}
	p.i += n
	if len(p.out) >= p.count {
		return fmt.Errorf(`"data" has more values than the shape %v calls for (%d)`, p.shape, p.count)
	}
	if !ok {
		return fmt.Errorf(`"data": %q is not a float32 number`, p.b[start:p.i])
	}
	if p.uint8 && (v != float32(math.Trunc(float64(v))) || v < 0 || v > 255) {
		return fmt.Errorf(`"data": %s is not a UINT8 value (0..255)`, p.b[start:p.i])
	}
	p.out = append(p.out, v)
	return nil
}

// scanFloat32 reads the JSON number b starts with and returns the float32
// nearest it, as strconv.ParseFloat(number, 32) does, and its length: n is 0
// when b does not start with a JSON number
// (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), ok is false when the number
// overflows float32.
//
// Numbers without an exponent, with at most 15 significant digits and 22
// after the point (what JSON encoders write for float32 values: 0.12156863,
// 0.121568635, 255) take a fast path. The digits m and 10^k are exact in
// float64, so m/10^k rounded to float64 is the correct rounding of the
// decimal (Clinger's fast path, which strconv takes too after a more general
// scan). Rounding that to float32 is the correct float32 unless the float64
// lies exactly halfway between two float32 values (rounding is monotonic and
// those midpoints are float64 values, so the decimal and its float64 are on
// the same side of every other midpoint); that case, and every other number,
// goes to strconv.
func scanFloat32(b []byte) (v float32, n int, ok bool) {
	i, neg := 0, false
	if i < len(b) && b[i] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	digits, exp, fast := 0, 0, true
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			if fast {
				mant = mant*10 + uint64(b[i]-'0')
				digits++
				fast = digits <= 15
			}
		}
	default:
		return 0, 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, 0, false
		}
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			if fast {
				if mant != 0 || b[i] != '0' {
					digits++
				}
				mant = mant*10 + uint64(b[i]-'0')
				exp--
				fast = digits <= 15 && exp >= -22
			}
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		fast = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, 0, false
		}
		for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		}
	}
	if fast {
		f := float64(mant) / pow10f64[-exp] // mant < 10^15 < 2^53: exact operands
		// 0 < f < 10^15 is a normal float32 magnitude; the 29 bits below a
		// float32's 24-bit significand are 1000...0 at a midpoint.
		if bits := math.Float64bits(f); bits&(1<<29-1) != 1<<28 {
			v = float32(f)
			if neg {
				v = -v
			}
			return v, i, true
		}
	}
	f, err := strconv.ParseFloat(string(b[:i]), 32)
	if err != nil || math.IsInf(f, 0) {
		return 0, i, false
	}
	return float32(f), i, true
}

// pow10f64 holds 10^0 .. 10^22, each exact in float64.
var pow10f64 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}
