// Package filter parses and evaluates RocketMQ subscription filters: tag
// expressions ("*", "a || b") and SQL92 property expressions. Pure; no I/O.
package filter
