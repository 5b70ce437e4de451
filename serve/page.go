package serve

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed page
var pageFiles embed.FS

var pageTemplate = template.Must(template.ParseFS(pageFiles, "page/index.html"))

// pageRoutes serves the draw-a-digit page at "/" and its script and style
// sheet under /page/. The page loads nothing from elsewhere; its
// Content-Security-Policy says so to the browser.
func (s *Server) pageRoutes(mux *http.ServeMux) {
	const csp = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
	static, _ := fs.Sub(pageFiles, "page")
	files := http.StripPrefix("/page/", http.FileServerFS(static))
	mux.HandleFunc("GET /page/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		if err := pageTemplate.Execute(&b, s.names); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		w.Write(b.Bytes())
	})
}
