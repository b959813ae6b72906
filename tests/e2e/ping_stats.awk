# Reads `ping -D` output and prints "SENT REPLIES MAX_GAP_MS P99_RTT_MS": the longest time between
# two consecutive replies is how long the path delivered nothing (10 ms resolution at -i 0.01).
# Used by the e2e scripts that measure an outage or a starved path.
/bytes from/ {
  t = substr($1, 2, length($1) - 2) + 0
  if (n > 0 && (t - last) * 1000 > max_gap) max_gap = (t - last) * 1000
  last = t
  n++
  for (i = 1; i <= NF; i++) if ($i ~ /^time=/) rtt[n] = substr($i, 6) + 0
}
/packets transmitted/ { sent = $1 }
END {
  # Insertion sort: a few thousand samples at most, and no gawk-only asort.
  for (i = 2; i <= n; i++) { v = rtt[i]; j = i - 1; while (j > 0 && rtt[j] > v) { rtt[j + 1] = rtt[j]; j-- } rtt[j + 1] = v }
  k = int(n * 0.99); if (k < 1) k = 1
  printf "%d %d %.0f %.2f\n", sent, n, max_gap, n ? rtt[k] : 0
}
