package serve

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the image endpoint decodes JPEG
	_ "image/png"  // and PNG
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/onnxdigits/onnxdigits/classify"
)

// images answers POST /v2/models/{name}/image: a PNG or JPEG body, or a
// multipart/form-data body with one image per part, classified like
// `onnxdigits predict --json` (?top=K most probable classes, 3 by default).
func (s *Server) images(w http.ResponseWriter, r *http.Request) {
	m, err := s.lookup(r)
	if err != nil {
		fail(w, err)
		return
	}
	top := 3
	if t := r.URL.Query().Get("top"); t != "" {
		top, err = strconv.Atoi(t)
		if err != nil || top < 1 || top > m.info.K {
			fail(w, fmt.Errorf("top=%q: want 1..%d", t, m.info.K))
			return
		}
	}
	files, images, err := s.readImages(w, r)
	if err != nil {
		fail(w, err)
		return
	}
	res, err := s.run(r.Context(), m, &job{n: len(images), images: images})
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]classify.Report, len(res.preds))
	for i, p := range res.preds {
		out[i] = classify.NewReport(files[i], p, m.info.Labels, top)
	}
	writeJSON(w, http.StatusOK, out)
}

// readImages reads the body's images (at most MaxBatch), each checked from its
// header (format, at most MaxImagePixels) before it is decoded.
func (s *Server) readImages(w http.ResponseWriter, r *http.Request) ([]string, []image.Image, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var files []string
	var images []image.Image
	add := func(file string, rd io.Reader) error {
		if len(images) == s.cfg.MaxBatch {
			return fmt.Errorf("more than %d images", s.cfg.MaxBatch)
		}
		body, err := io.ReadAll(rd)
		if err != nil {
			return readError(err)
		}
		img, err := s.decodeImage(body)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		files, images = append(files, file), append(images, img)
		return nil
	}
	if mediaType == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for i := 0; ; i++ {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, readError(err)
			}
			name := part.FileName()
			if name == "" {
				name = fmt.Sprintf("part %d", i+1)
			}
			if err := add(name, part); err != nil {
				return nil, nil, err
			}
		}
		if len(images) == 0 {
			return nil, nil, errors.New("the multipart body holds no image")
		}
		return files, images, nil
	}
	if err := add("body", r.Body); err != nil {
		return nil, nil, err
	}
	return files, images, nil
}

func readError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return httpErrorf(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", tooLarge.Limit)
	}
	return fmt.Errorf("reading the body: %w", err)
}

// decodeImage decodes a PNG or JPEG after checking its size from the header;
// at most GOMAXPROCS images are decoded at once, bounding the memory.
func (s *Server) decodeImage(b []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > s.cfg.MaxImagePixels/cfg.Height {
		return nil, fmt.Errorf("%s image of %dx%d pixels: at most %d pixels", format, cfg.Width, cfg.Height, s.cfg.MaxImagePixels)
	}
	s.decodes <- struct{}{}
	defer func() { <-s.decodes }()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s image: %w", format, err)
	}
	return img, nil
}
