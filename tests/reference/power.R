# Reference values for ipafstudy.stats.power: R's power.t.test (two-sample, two-sided, strict = FALSE) and the
# noncentral-t power of a two-sample t test with unequal arms.
# Run as: Rscript tests/reference/power.R   (writes power_t_n_r.csv, power_t_power_r.csv, power_t_unequal_r.csv)
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "power.R"

grid <- expand.grid(delta = c(3.1, 1.55, 0.8, 10), sd = c(5.2, 2), power = c(0.8, 0.9), sig.level = c(0.05, 0.01))
grid$n <- mapply(function(d, s, p, a) power.t.test(delta = d, sd = s, power = p, sig.level = a, tol = 1e-12)$n,
                 grid$delta, grid$sd, grid$power, grid$sig.level)
write_ref(grid, "power_t_n_r.csv", script)

pg <- expand.grid(n = c(2, 5, 15, 33, 100), delta = c(3.1, 0.8), sd = c(5.2, 2), sig.level = c(0.05, 0.01))
pg$power <- mapply(function(n, d, s, a) power.t.test(n = n, delta = d, sd = s, sig.level = a)$power,
                   pg$n, pg$delta, pg$sd, pg$sig.level)
write_ref(pg, "power_t_power_r.csv", script)

# Unequal arms: P(T' > t_{1-a/2, n1+n2-2}), ncp = delta / (sd sqrt(1/n1 + 1/n2)); with n1 = n2 it equals
# power.t.test, which the script checks before writing.
unequal <- function(n1, n2, delta, sd, a) {
  df <- n1 + n2 - 2
  pt(qt(a / 2, df, lower.tail = FALSE), df, ncp = delta / (sd * sqrt(1 / n1 + 1 / n2)), lower.tail = FALSE)
}
stopifnot(abs(unequal(15, 15, 3.1, 5.2, 0.05) - power.t.test(n = 15, delta = 3.1, sd = 5.2)$power) < 1e-12)
ug <- data.frame(n1 = c(33, 15, 2, 40, 10), n2 = c(15, 33, 5, 8, 10), delta = c(2.4, 2.4, 6, 1.1, 3),
                 sd = c(4.8, 4.8, 3, 2.2, 5), sig.level = c(0.05, 0.05, 0.05, 0.01, 0.05))
ug$power <- mapply(unequal, ug$n1, ug$n2, ug$delta, ug$sd, ug$sig.level)
write_ref(ug, "power_t_unequal_r.csv", script)
