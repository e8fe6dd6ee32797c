# lme4 on the bundled cohort's slope models (issue 12 item 1, "agrees with R on the bundled cohort").
# Data: tests/reference/study_slopes_data.csv = ipafstudy.analysis.slopes.model_frames() of the bundled example
# cohort (every dated value per outcome and model window; tests/analysis/test_slopes_bundled.py checks it still
# equals what the code builds). For each outcome and model the script fits the random-slope model
# (value ~ years + (years | patient_id), piecewise: + post = max(years, 0)), REML; when lme4 calls it singular it
# fits the random-intercept model instead (the rule ipafstudy applies) and records which.
# Run as: Rscript tests/reference/study_slopes.R   (writes study_slopes_r.csv)
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "study_slopes.R"
data <- read.csv(file.path(ref_dir, "study_slopes_data.csv"), comment.char = "#")
tight <- list(xtol_abs = 1e-14, ftol_abs = 1e-16, xtol_rel = 1e-14, ftol_rel = 1e-16, maxeval = 1e5)
ctrl <- lmerControl(optimizer = "nloptwrap", optCtrl = tight, check.conv.singular = "ignore")
rows <- list()
for (key in unique(paste(data$outcome, data$model))) {
  part <- data[paste(data$outcome, data$model) == key, ]
  part$post <- pmax(part$years, 0)
  piecewise <- part$model[1] == "piecewise"
  f_slope <- if (piecewise) value ~ years + post + (years | patient_id) else value ~ years + (years | patient_id)
  f_int <- if (piecewise) value ~ years + post + (1 | patient_id) else value ~ years + (1 | patient_id)
  fit <- lmer(f_slope, data = part, REML = TRUE, control = ctrl)
  random <- "random_slope"
  if (isSingular(fit)) {
    fit <- lmer(f_int, data = part, REML = TRUE, control = ctrl)
    random <- "random_intercept"
  }
  co <- summary(fit)$coefficients
  vc <- as.data.frame(VarCorr(fit))
  after <- if (piecewise) sum(fixef(fit)[c("years", "post")]) else NA
  after_se <- if (piecewise) sqrt(sum(as.matrix(vcov(fit))[c("years", "post"), c("years", "post")])) else NA
  rows[[length(rows) + 1]] <- data.frame(
    outcome = part$outcome[1], model = part$model[1], random = random, n_obs = nobs(fit),
    n_patients = ngrps(fit)[["patient_id"]], slope = co["years", 1], slope_se = co["years", 2],
    post = if (piecewise) co["post", 1] else NA, post_se = if (piecewise) co["post", 2] else NA,
    slope_after = after, slope_after_se = after_se,
    var_intercept = vc[vc$grp == "patient_id" & vc$var1 == "(Intercept)" & is.na(vc$var2), "vcov"],
    var_residual = sigma(fit)^2, loglik = as.numeric(logLik(fit)))
}
write_ref(do.call(rbind, rows), "study_slopes_r.csv", script, "lme4")
