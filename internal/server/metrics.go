package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on a registry of its own so
// that two servers in one test process do not collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulkhead_http_requests_total", Help: "HTTP requests by plane, route, method and status code.",
		}, []string{"plane", "route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bulkhead_http_request_duration_seconds", Help: "HTTP request latency by plane and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"plane", "route", "method"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulkhead_http_request_bytes_total", Help: "Request body bytes received.",
		}, []string{"plane", "route"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulkhead_http_response_bytes_total", Help: "Response body bytes sent.",
		}, []string{"plane", "route"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(plane, route, method string, status int, d time.Duration, in, out int64) {
	m.requests.WithLabelValues(plane, route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(plane, route, method).Observe(d.Seconds())
	if in > 0 {
		m.bytesIn.WithLabelValues(plane, route).Add(float64(in))
	}
	if out > 0 {
		m.bytesOut.WithLabelValues(plane, route).Add(float64(out))
	}
}
