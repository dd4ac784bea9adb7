package scheduler

// WakeFor is wakeFor, for the tests of package scheduler_test: an
// addressed wake-up for n jobs, as a notification or a timer gives one.
func (s *Service) WakeFor(n int) { s.wakeFor(n) }
