package fs

// SetFault installs a fault injector (tests only).
func (s *Store) SetFault(f func(op string) error) { s.fault = f }
