# Reference values for multiple linear regression (lm, standardised coefficients, car::vif,
# lmtest::bptest, shapiro.test of residuals).
# Run as: Rscript tests/reference/regression.R   (writes regression_data.csv, regression_terms_r.csv, regression_fit_r.csv)
suppressMessages({library(car); library(lmtest)})
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "regression.R"

frame <- data.frame(
  delta_total = c(-4, -2, -6, 0, -1, -3, -5, -1, 1, -3, -2, -7, -1, -2, NA, -3, -4, 0, -2, -5, -1, -3),
  base_consolidation = c(6, 3, 9, 1, 2, 5, 8, 2, 0, 4, 3, 10, 1, 3, 4, NA, 7, 1, 2, 8, 2, 5),
  base_ggo = c(8, 6, 9, 4, 5, 7, 10, 3, 2, 8, 5, 12, 4, 6, 7, 5, 9, 3, 5, 11, 4, 6),
  smoking = c(0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0),
  base_total = c(20, 15, 28, 10, 12, 19, 27, 11, 8, 18, 14, 31, 9, 16, 17, 15, 24, 10, 13, 29, 12, 18)
)
write_ref(frame, "regression_data.csv", script)

preds <- c("base_consolidation", "base_ggo", "smoking", "base_total")
fit <- lm(delta_total ~ base_consolidation + base_ggo + smoking + base_total, data = frame)
mf <- model.frame(fit)
std <- lm(scale(delta_total) ~ scale(base_consolidation) + scale(base_ggo) + scale(smoking) + scale(base_total),
          data = mf)
co <- summary(fit)$coefficients
ci <- confint(fit, level = 0.95)
terms <- data.frame(term = c("Intercept", preds), b = co[, 1], se = co[, 2], ci_low = ci[, 1], ci_high = ci[, 2],
                    beta = c(NA, unname(coef(std)[-1])), t = co[, 3], p = co[, 4], vif = c(NA, unname(vif(fit))))
write_ref(terms, "regression_terms_r.csv", script, c("car", "lmtest"))
s <- summary(fit)
bp <- bptest(fit, studentize = TRUE)
sw <- shapiro.test(residuals(fit))
write_ref(data.frame(n = nrow(mf), n_dropped = nrow(frame) - nrow(mf), r2 = s$r.squared, adj_r2 = s$adj.r.squared,
                     f = unname(s$fstatistic[1]), f_p = unname(pf(s$fstatistic[1], s$fstatistic[2], s$fstatistic[3],
                                                                  lower.tail = FALSE)),
                     df_resid = fit$df.residual, residual_sd = s$sigma, bp_lm = unname(bp$statistic),
                     bp_p = bp$p.value, shapiro_w = unname(sw$statistic), shapiro_p = sw$p.value),
          "regression_fit_r.csv", script, c("car", "lmtest"))
