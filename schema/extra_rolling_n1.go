//go:build podium_rolling && !podium_nplus1 && !podium_nplus1_broken

package schema

const rollingNPlus1 = true
