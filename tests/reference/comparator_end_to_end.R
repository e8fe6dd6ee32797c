# The bundled cohort's comparator analysis (issue 12 item 4, observational target-trial emulation) recomputed by R
# from the per-patient dataset ipafstudy wrote for it.
#
# Run as: Rscript tests/reference/comparator_end_to_end.R
#   input : tests/reference/comparator_dataset.csv (copy of comparator_dataset.csv from
#           `ipafstudy synth --bundled --out D && ipafstudy analyze D --out O`) and
#           tests/reference/comparator_boot_indices.csv (the bootstrap resamples of the primary outcome that run drew:
#           `python tests/analysis/comparator_bundled.py tests/reference`, 0-based row positions in the primary
#           outcome's patient set, one row per replicate)
#   output: comparator_r_outcomes.csv (per outcome: patients, overlap-weighted means, difference, unweighted
#           difference, effective sample sizes), comparator_r_balance.csv (SMD per term before/after weighting, primary
#           outcome's set), comparator_r_patients.csv (ps and weight per patient of that set), comparator_r_fit.csv
#           (glm coefficients and c statistic of the primary model), comparator_r_boot.csv (the primary outcome's
#           bootstrap replicates on the recorded resamples) and comparator_r_boot_ci.csv (type-7 percentile limits of
#           every outcome analysed on the primary outcome's patients, which the run bootstraps on the same resamples).
# Every output starts with a comment line naming this script, the R version and the md5 of both inputs
# (tests/analysis/test_comparator_against_r.py checks them against the committed files).
#
# The default plan, spelled out: covariates age, sex, antibody_group and the primary outcome's baseline
# (hrct_total_baseline); overlap weights (treated 1 - ps, comparator ps); complete cases per outcome (every covariate
# and that outcome's change), the propensity model glm(binomial) fitted on exactly those patients; categorical
# covariates with their levels sorted as text (C locale), the first the reference; SMD denominator the unweighted
# pooled SD (sqrt(p(1 - p)) mean for 0/1 terms); 2 000 resamples within each arm, model re-fitted in each.
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "comparator_end_to_end.R"

input <- file.path(ref_dir, "comparator_dataset.csv")
index_input <- file.path(ref_dir, "comparator_boot_indices.csv")
md5 <- function(p) unname(tools::md5sum(p))
write_out <- function(df, file) {
  con <- file(file.path(ref_dir, file), "w")
  writeLines(paste0(header_line(script), "; input comparator_dataset.csv md5 ", md5(input),
                    "; comparator_boot_indices.csv md5 ", md5(index_input)), con)
  write.csv(df, con, row.names = FALSE, na = "NA")
  close(con)
}

d <- read.csv(input, colClasses = c(patient_id = "character"), stringsAsFactors = FALSE, na.strings = "")
primary <- "hrct_total"
outcomes <- c("hrct_total", "hrct_ggo", "hrct_fibrosis", "hrct_honeycombing", "hrct_consolidation", "mmrc", "esr",
              "crp", "methylprednisolone_dose")
numeric_covs <- c("age", "hrct_total_baseline")
factor_covs <- c("sex", "antibody_group")
covariates <- c("age", "sex", "antibody_group", "hrct_total_baseline")
levels_of <- lapply(setNames(factor_covs, factor_covs), function(f) sort(unique(na.omit(d[[f]])), method = "radix"))
for (f in factor_covs) d[[f]] <- factor(d[[f]], levels = levels_of[[f]])
ctl <- glm.control(epsilon = 1e-13, maxit = 100)
form <- reformulate(covariates, response = "treated")
fit_ps <- function(dd) glm(form, family = binomial(), data = dd, control = ctl)
overlap_w <- function(ps, t) ifelse(t == 1, 1 - ps, ps)
wmean <- function(y, w) sum(w * y) / sum(w)
ess <- function(w) sum(w)^2 / sum(w^2)
complete <- complete.cases(d[covariates])
set_of <- function(o) d[complete & !is.na(d[[paste0(o, "_change")]]), ]  # rows in the dataset's order

# ---- weighted difference in change per outcome ------------------------------------------------------------------
out_rows <- lapply(outcomes, function(o) {
  dd <- set_of(o)
  t <- dd$treated
  y <- dd[[paste0(o, "_change")]]
  fit <- fit_ps(dd)
  stopifnot(fit$converged)
  w <- overlap_w(unname(fitted(fit)), t)
  data.frame(code = o, n_treated = sum(t == 1), n_control = sum(t == 0),
             mean_treated = wmean(y[t == 1], w[t == 1]), mean_control = wmean(y[t == 0], w[t == 0]),
             difference = wmean(y[t == 1], w[t == 1]) - wmean(y[t == 0], w[t == 0]),
             unweighted_difference = mean(y[t == 1]) - mean(y[t == 0]),
             ess_treated = ess(w[t == 1]), ess_control = ess(w[t == 0]))
})
write_out(do.call(rbind, out_rows), "comparator_r_outcomes.csv")

# ---- the primary outcome's set: model, ps, weights, balance -----------------------------------------------------
dp <- set_of(primary)
tp <- dp$treated
fit <- fit_ps(dp)
ps <- unname(fitted(fit))
w <- overlap_w(ps, tp)
cs <- summary(fit)$coefficients
our_terms <- c("Intercept", "age", paste0("sex[", levels_of$sex[-1], "]"),
               paste0("antibody_group[", levels_of$antibody_group[-1], "]"), "hrct_total_baseline")
stopifnot(length(our_terms) == nrow(cs))
cstat <- mean(outer(ps[tp == 1], ps[tp == 0], ">") + 0.5 * outer(ps[tp == 1], ps[tp == 0], "=="))
write_out(data.frame(term = our_terms, estimate = cs[, 1], se = cs[, 2], c_statistic = cstat,
                     deviance = deviance(fit)), "comparator_r_fit.csv")
write_out(data.frame(patient_id = dp$patient_id, treated = tp, ps = ps, weight = w), "comparator_r_patients.csv")

smd_rows <- list()
add_term <- function(term, x, binary) {
  x1 <- x[tp == 1]; x0 <- x[tp == 0]
  denom <- if (binary) sqrt((mean(x1) * (1 - mean(x1)) + mean(x0) * (1 - mean(x0))) / 2) else
    sqrt((var(x1) + var(x0)) / 2)
  m1 <- mean(x1); m0 <- mean(x0); mw1 <- wmean(x1, w[tp == 1]); mw0 <- wmean(x0, w[tp == 0])
  smd_rows[[term]] <<- data.frame(term = term, binary = binary, mean_treated = m1, mean_control = m0,
                                  smd_before = (m1 - m0) / denom, mean_treated_weighted = mw1,
                                  mean_control_weighted = mw0, smd_after = (mw1 - mw0) / denom)
}
for (v in covariates) {
  if (v %in% numeric_covs) {
    add_term(v, dp[[v]], all(dp[[v]] %in% c(0, 1)))
  } else {
    lv <- levels_of[[v]]
    for (l in if (length(lv) == 2) lv[-1] else lv) add_term(paste0(v, "[", l, "]"), as.numeric(dp[[v]] == l), TRUE)
  }
}
write_out(do.call(rbind, smd_rows), "comparator_r_balance.csv")

# ---- bootstrap on the run's own resamples: the primary outcome and every outcome with the same patients ----------
idx <- as.matrix(read.csv(index_input, comment.char = "#")) + 1
stopifnot(ncol(idx) == nrow(dp), all(tp[idx] == rep(tp, each = nrow(idx))))  # resampled within each arm
same_set <- Filter(function(o) identical(set_of(o)$patient_id, dp$patient_id), outcomes)
ys <- sapply(same_set, function(o) dp[[paste0(o, "_change")]])
reps <- t(apply(idx, 1, function(i) {
  dd <- dp[i, ]
  warned <- FALSE
  f <- withCallingHandlers(fit_ps(dd), warning = function(w) {
    warned <<- TRUE
    invokeRestart("muffleWarning")
  })
  wi <- overlap_w(unname(fitted(f)), dd$treated)
  ti <- dd$treated
  c(apply(ys[i, , drop = FALSE], 2, function(yi) wmean(yi[ti == 1], wi[ti == 1]) - wmean(yi[ti == 0], wi[ti == 0])),
    warned = as.numeric(warned || !f$converged))
}))
write_out(data.frame(replicate = seq_len(nrow(reps)), t = reps[, primary], glm_warned = reps[, "warned"]),
          "comparator_r_boot.csv")
ci_rows <- lapply(same_set, function(o) {
  q <- quantile(reps[, o], c(0.025, 0.975), type = 7)
  data.frame(code = o, n_boot = nrow(reps), n_warned = sum(reps[, "warned"]), ci_low = q[1], ci_high = q[2])
})
write_out(do.call(rbind, ci_rows), "comparator_r_boot_ci.csv")
