package index

import (
	"os"
	"syscall"
)

// blocks is the disk space a file uses.
func blocks(st os.FileInfo) int64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Blocks * 512
	}
	return st.Size()
}
