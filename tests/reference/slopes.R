# Reference values for ipafstudy.stats.slope_model: lme4 REML fits of the random-coefficient slope model.
# Run as: Rscript tests/reference/slopes.R
#   writes slopes_data.csv (the committed data), slopes_fixed_r.csv (fixed effects, SE, contrasts),
#   slopes_fit_r.csv (variance components, REML logLik, singular flag)
# Datasets: "unbalanced" (2 to 7 visits at irregular times, one patient with a single visit, times before and
# after 0 so the piecewise model is identifiable) and "flat" (every patient declines at the same rate: the
# random-slope variance is at its boundary, lme4 reports a singular fit; ipafstudy falls back to (1 | id)).
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "slopes.R"

set.seed(20250101)
make_unbalanced <- function() {
  rows <- list()
  n_visits <- c(7, 5, 2, 6, 3, 4, 7, 1, 5, 6, 3, 4, 6, 2)
  for (i in seq_along(n_visits)) {
    k <- n_visits[i]
    t <- sort(round(runif(k, -1.5, 2.5), 3))
    b0 <- rnorm(1, 0, 6); b1 <- rnorm(1, 0, 2.5)
    y <- 60 + b0 + (-4 + b1) * t + 2.5 * pmax(t, 0) + rnorm(k, 0, 1.5)
    rows[[i]] <- data.frame(dataset = "unbalanced", id = sprintf("P%02d", i), time = t, value = round(y, 2))
  }
  do.call(rbind, rows)
}
make_flat <- function() {
  # Parallel lines: each patient's residual pattern sums to 0 and is orthogonal to time, so every patient's own
  # least-squares slope is exactly -2 and the random-slope variance is estimated at 0 (singular).
  pattern <- c(1, -2, 0, 2, -1)
  rows <- list()
  for (i in 1:10) {
    t <- c(0, 0.5, 1, 1.5, 2)
    y <- 40 + round(rnorm(1, 0, 5), 2) - 2 * t + (if (i %% 2) 1 else -1) * (0.5 + i / 10) * pattern
    rows[[i]] <- data.frame(dataset = "flat", id = sprintf("F%02d", i), time = t, value = round(y, 2))
  }
  do.call(rbind, rows)
}
data <- rbind(make_unbalanced(), make_flat())
write_ref(data, "slopes_data.csv", script)
data <- read.csv(file.path(ref_dir, "slopes_data.csv"), comment.char = "#")  # exactly the committed values

fixed_rows <- list()
fit_rows <- list()
record <- function(dataset, model, fit) {
  co <- summary(fit)$coefficients
  fixed_rows[[length(fixed_rows) + 1]] <<- data.frame(dataset = dataset, model = model, term = rownames(co),
                                                      estimate = co[, 1], se = co[, 2])
  if ("post" %in% rownames(co)) {
    cvec <- c(0, 1, 1)
    est <- sum(cvec * fixef(fit))
    se <- sqrt(as.numeric(t(cvec) %*% as.matrix(vcov(fit)) %*% cvec))
    fixed_rows[[length(fixed_rows) + 1]] <<- data.frame(dataset = dataset, model = model, term = "slope_after",
                                                        estimate = est, se = se)
  }
  vc <- as.data.frame(VarCorr(fit))
  get <- function(v1, v2 = NA) {
    hit <- vc[vc$var1 %in% v1 & (if (is.na(v2)) is.na(vc$var2) else vc$var2 %in% v2), "vcov"]
    if (length(hit)) hit else NA
  }
  fit_rows[[length(fit_rows) + 1]] <<- data.frame(
    dataset = dataset, model = model, n_obs = nobs(fit), n_subjects = ngrps(fit)[["id"]],
    var_intercept = get("(Intercept)"), var_slope = get("time"), cov_intercept_slope = get("(Intercept)", "time"),
    var_residual = sigma(fit)^2, loglik = as.numeric(logLik(fit)), singular = isSingular(fit))
}
tight <- list(xtol_abs = 1e-14, ftol_abs = 1e-16, xtol_rel = 1e-14, ftol_rel = 1e-16, maxeval = 1e5)
ctrl <- lmerControl(optimizer = "nloptwrap", optCtrl = tight)
ctrl_quiet <- lmerControl(optimizer = "nloptwrap", optCtrl = tight, check.conv.singular = "ignore")
unb <- data[data$dataset == "unbalanced", ]
unb$post <- pmax(unb$time - 0, 0)
record("unbalanced", "slope", lmer(value ~ time + (time | id), data = unb, REML = TRUE, control = ctrl))
record("unbalanced", "piecewise", lmer(value ~ time + post + (time | id), data = unb, REML = TRUE, control = ctrl))
record("unbalanced", "intercept", lmer(value ~ time + (1 | id), data = unb, REML = TRUE, control = ctrl))
record("unbalanced", "slope_ml", lmer(value ~ time + (time | id), data = unb, REML = FALSE, control = ctrl))
flat <- data[data$dataset == "flat", ]
record("flat", "slope", lmer(value ~ time + (time | id), data = flat, REML = TRUE, control = ctrl_quiet))
record("flat", "intercept", lmer(value ~ time + (1 | id), data = flat, REML = TRUE, control = ctrl))
write_ref(do.call(rbind, fixed_rows), "slopes_fixed_r.csv", script, "lme4")
write_ref(do.call(rbind, fit_rows), "slopes_fit_r.csv", script, "lme4")
