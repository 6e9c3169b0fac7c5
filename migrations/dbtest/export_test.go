package dbtest

// StartClusterDir starts a throwaway cluster (ignoring ORBIT_TEST_DATABASE_URL)
// and returns its directory, for the reaper test's child process.
func StartClusterDir() (string, error) {
	c, err := startCluster()
	if err != nil {
		return "", err
	}
	return c.dir, nil
}
