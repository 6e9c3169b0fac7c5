//go:build !embed

package console

import (
	"io/fs"
	"testing/fstest"
)

// Files returns a placeholder page: this binary was built without the
// console (no -tags embed), which keeps Go builds and tests free of Node.
func Files() fs.FS {
	return fstest.MapFS{"index.html": {Data: []byte(placeholder)}}
}

// Built reports whether the real console is embedded.
const Built = false

const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Orbit</title></head>
<body style="font-family: sans-serif; margin: 3rem">
<h1>Orbit</h1>
<p>This binary was built without the web console. Build it with <code>make run</code>
(or <code>make build</code>), which builds web/ and embeds it with <code>-tags embed</code>.</p>
<p>The REST API is at <a href="/api/v1/docs">/api/v1/docs</a>.</p>
</body></html>
`
