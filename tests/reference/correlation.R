# Reference values for Spearman correlation (t approximation) and p-value adjustment.
# Run as: Rscript tests/reference/correlation.R   (writes correlation_data.csv, spearman_r.csv, p_adjust_r.csv)
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "correlation.R"

frame <- data.frame(
  hrct = c(-3, -2, -5, 0, -1, -2, -4, -1, 0, -3, -2, -6, -1, NA, -2, -3),
  ggo = c(-1, -1, -2, 0, 0, -1, -2, 0, 1, -1, -1, -3, 0, -1, NA, -1),
  crp = c(-2.2, -0.5, -8.1, 0.3, -1.0, -3.3, -4.4, 0.0, 1.2, -2.0, -0.7, -9.5, -0.2, -1.1, -1.5, NA),
  esr = c(-8, -2, -20, 3, -5, -12, -15, 0, 4, -9, -6, -25, -1, -4, -7, -10),
  const = rep(1, 16),
  sparse = c(1, NA, NA, NA, NA, NA, 3, NA, NA, NA, NA, NA, NA, NA, NA, NA)
)
write_ref(frame, "correlation_data.csv", script)

vars <- names(frame)
rows <- list()
for (i in seq_along(vars)) for (j in seq_along(vars)) if (i < j) {
  x <- frame[[vars[i]]]; y <- frame[[vars[j]]]
  ok <- complete.cases(x, y)
  res <- tryCatch(suppressWarnings(cor.test(x[ok], y[ok], method = "spearman", exact = FALSE)),
                  error = function(e) NULL)
  rows[[length(rows) + 1]] <- data.frame(var1 = vars[i], var2 = vars[j], n = sum(ok),
                                         rho = if (is.null(res)) NA else unname(res$estimate),
                                         p = if (is.null(res)) NA else res$p.value)
}
sp <- do.call(rbind, rows)
# Holm / BH over the pairs of the four outcome columns only (the others are degenerate).
core <- sp$var1 %in% vars[1:4] & sp$var2 %in% vars[1:4]
sp$p_holm_core <- NA; sp$p_bh_core <- NA
sp$p_holm_core[core] <- p.adjust(sp$p[core], method = "holm")
sp$p_bh_core[core] <- p.adjust(sp$p[core], method = "BH")
write_ref(sp, "spearman_r.csv", script)

p <- c(0.01, 0.04, NA, 0.03, 0.005, 0.5, 0.04, 1, 0.0001)
write_ref(data.frame(p = p, holm = p.adjust(p, "holm"), bh = p.adjust(p, "BH")), "p_adjust_r.csv", script)
