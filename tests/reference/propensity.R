# Reference values for ipafstudy.stats.propensity: logistic propensity model (glm, binomial, unpenalised), overlap
# and inverse-probability weights, standardised mean differences before/after weighting, weighted differences in
# change, and a stratified bootstrap of the overlap-weighted difference that re-fits the model in every replicate.
# Run as: Rscript tests/reference/propensity.R
# Writes propensity_data.csv (the datasets), propensity_fit_r.csv (model fit), propensity_coef_r.csv (coefficients),
# propensity_ps_r.csv (per patient: linear predictor, ps, weights), propensity_smd_r.csv (SMD per term and
# weighting), propensity_diff_r.csv (weighted differences, effective sample sizes), propensity_boot_r.csv (boot
# replicates t and whether glm warned) and propensity_boot_index_r.csv (boot.array(indices = TRUE), one row per
# replicate, 1-based row numbers of the data).
suppressMessages(library(boot))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "propensity.R"

# --- datasets -------------------------------------------------------------------------------------------------
# 'cohort': 40 patients, continuous, 0/1, two-level and three-level categorical covariates; treatment depends on
# age and fvc (so weighting has something to balance); values rounded so the CSV is exact.
set.seed(12)
n <- 40
age <- round(rnorm(n, 62, 9))
fvc <- round(rnorm(n, 72, 14), 1)
sex <- sample(c("F", "M"), n, replace = TRUE, prob = c(0.6, 0.4))
smoker <- rbinom(n, 1, 0.35)
pattern <- sample(c("NSIP", "OP", "UIP"), n, replace = TRUE, prob = c(0.5, 0.2, 0.3))
lin <- -0.4 + 0.06 * (age - 62) - 0.03 * (fvc - 72) + 0.5 * (sex == "M")
treated <- rbinom(n, 1, plogis(lin))
change <- round(rnorm(n, 1.5 * treated - 0.05 * (age - 62), 4), 1)
cohort <- data.frame(dataset = "cohort", id = sprintf("P%02d", seq_len(n)), treated = treated, age = age, fvc = fvc,
                     sex = sex, smoker = smoker, pattern = pattern, change = change)
# 'n2': two patients per arm, one covariate; not separated (the treated patients hold both extremes).
n2 <- data.frame(dataset = "n2", id = c("A", "B", "C", "D"), treated = c(1, 1, 0, 0), age = c(50, 71, 58, 60),
                 fvc = NA, sex = NA, smoker = NA, pattern = NA, change = c(-2, 1.5, -4, 0.5))
write_ref(rbind(cohort, n2), "propensity_data.csv", script)

specs <- list(
  cohort = list(data = cohort, numeric = c("age", "fvc", "smoker"), factors = c("sex", "pattern")),
  n2 = list(data = n2, numeric = c("age"), factors = character())
)
levels_of <- list(sex = c("F", "M"), pattern = c("NSIP", "OP", "UIP"))  # reference = first (sorted) level

ctl <- glm.control(epsilon = 1e-13, maxit = 100)
prepare <- function(spec) {
  d <- spec$data
  for (f in spec$factors) d[[f]] <- factor(d[[f]], levels = levels_of[[f]])
  d
}
model_formula <- function(spec) reformulate(c(spec$numeric, spec$factors), response = "treated")
fit_ps <- function(d, spec) glm(model_formula(spec), family = binomial(), data = d, control = ctl)
# Our term names: numeric covariate as is, factor dummy as covariate[level], intercept "Intercept".
our_terms <- function(spec) {
  out <- c("Intercept", spec$numeric)
  for (f in spec$factors) out <- c(out, paste0(f, "[", levels_of[[f]][-1], "]"))
  out
}
overlap_w <- function(ps, t) ifelse(t == 1, 1 - ps, ps)
iptw_w <- function(ps, t) ifelse(t == 1, 1 / ps, 1 / (1 - ps))
iptw_stab_w <- function(ps, t) ifelse(t == 1, mean(t) / ps, (1 - mean(t)) / (1 - ps))
wdiff <- function(y, t, w) weighted.mean(y[t == 1], w[t == 1]) - weighted.mean(y[t == 0], w[t == 0])

# SMD terms: numeric covariates (binary when only 0/1), a two-level factor as its non-reference level, a factor
# with more levels as every level. Denominator: UNWEIGHTED pooled SD sqrt((s1^2 + s0^2) / 2) (var with n - 1) for
# continuous terms, sqrt((p1 (1 - p1) + p0 (1 - p0)) / 2) for binary terms; numerator: (weighted) mean difference.
smd_terms <- function(d, spec) {
  terms <- list()
  for (v in spec$numeric) terms[[v]] <- list(x = d[[v]], binary = all(d[[v]] %in% c(0, 1)), covariate = v, level = NA)
  for (f in spec$factors) {
    lv <- levels_of[[f]]
    use <- if (length(lv) == 2) lv[-1] else lv
    for (l in use) terms[[paste0(f, "[", l, "]")]] <- list(x = as.numeric(d[[f]] == l), binary = TRUE,
                                                             covariate = f, level = l)
  }
  terms
}
smd_rows <- function(d, spec, w, weighting, name) {
  t <- d$treated
  do.call(rbind, lapply(names(smd_terms(d, spec)), function(term) {
    s <- smd_terms(d, spec)[[term]]
    x <- s$x
    denom <- if (s$binary) {
      p1 <- mean(x[t == 1]); p0 <- mean(x[t == 0]); sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    } else sqrt((var(x[t == 1]) + var(x[t == 0])) / 2)
    m1 <- weighted.mean(x[t == 1], w[t == 1]); m0 <- weighted.mean(x[t == 0], w[t == 0])
    data.frame(dataset = name, weighting = weighting, term = term, covariate = s$covariate, level = s$level,
               binary = s$binary, mean_treated = m1, mean_control = m0, denominator = denom,
               smd = (m1 - m0) / denom)
  }))
}

fit_rows <- list(); coef_rows <- list(); ps_rows <- list(); smd_all <- list(); diff_rows <- list()
for (name in names(specs)) {
  spec <- specs[[name]]
  d <- prepare(spec)
  fit <- fit_ps(d, spec)
  stopifnot(fit$converged)
  ps <- unname(fitted(fit)); t <- d$treated
  cs <- summary(fit)$coefficients
  coef_rows[[name]] <- data.frame(dataset = name, term = our_terms(spec), estimate = cs[, 1], se = cs[, 2],
                                  z = cs[, 3], p = cs[, 4])
  # c statistic: P(ps of a treated > ps of a control) + ties / 2 (the Mann-Whitney form of the ROC area)
  cstat <- mean(outer(ps[t == 1], ps[t == 0], ">") + 0.5 * outer(ps[t == 1], ps[t == 0], "=="))
  fit_rows[[name]] <- data.frame(dataset = name, n = nrow(d), n_treated = sum(t), n_control = sum(1 - t),
                                 deviance = deviance(fit), null_deviance = fit$null.deviance, aic = AIC(fit),
                                 loglik = as.numeric(logLik(fit)), df_residual = fit$df.residual,
                                 c_statistic = cstat)
  weights <- list(none = rep(1, nrow(d)), overlap = overlap_w(ps, t), iptw = iptw_w(ps, t),
                  iptw_stabilized = iptw_stab_w(ps, t))
  ps_rows[[name]] <- data.frame(dataset = name, id = d$id, treated = t, linear_predictor = unname(fit$linear.predictors),
                                ps = ps, w_overlap = weights$overlap, w_iptw = weights$iptw,
                                w_iptw_stabilized = weights$iptw_stabilized)
  for (wn in names(weights)) {
    w <- weights[[wn]]
    smd_all[[paste(name, wn)]] <- smd_rows(d, spec, w, wn, name)
    ess <- function(v) sum(v)^2 / sum(v^2)
    diff_rows[[paste(name, wn)]] <- data.frame(
      dataset = name, weighting = wn,
      mean_treated = weighted.mean(d$change[t == 1], w[t == 1]),
      mean_control = weighted.mean(d$change[t == 0], w[t == 0]), difference = wdiff(d$change, t, w),
      ess_treated = ess(w[t == 1]), ess_control = ess(w[t == 0]))
  }
}
write_ref(do.call(rbind, fit_rows), "propensity_fit_r.csv", script)
write_ref(do.call(rbind, coef_rows), "propensity_coef_r.csv", script)
write_ref(do.call(rbind, ps_rows), "propensity_ps_r.csv", script)
write_ref(do.call(rbind, smd_all), "propensity_smd_r.csv", script)
write_ref(do.call(rbind, diff_rows), "propensity_diff_r.csv", script)

# --- bootstrap: resample patients within arm (strata = treated), re-fit glm, overlap-weighted difference --------
spec <- specs$cohort
d <- prepare(spec)
warned <- logical(0)
statistic <- function(data, i) {
  dd <- data[i, ]
  w_flag <- FALSE
  fit <- withCallingHandlers(fit_ps(dd, spec), warning = function(w) {
    w_flag <<- TRUE
    invokeRestart("muffleWarning")
  })
  ps <- unname(fitted(fit))
  c(wdiff(dd$change, dd$treated, overlap_w(ps, dd$treated)),
    wdiff(dd$change, dd$treated, iptw_w(ps, dd$treated)), as.numeric(w_flag || !fit$converged))
}
set.seed(20240101)
b <- boot(d, statistic, R = 200, strata = d$treated)
idx <- boot.array(b, indices = TRUE)
# boot with strata keeps every row's arm: a resampled row comes from the same arm as the row it replaces
stopifnot(all(d$treated[idx] == rep(d$treated, each = nrow(idx))))
boot_rows <- data.frame(replicate = seq_len(nrow(b$t)), t_overlap = b$t[, 1], t_iptw = b$t[, 2],
                        glm_warned = b$t[, 3])
t0 <- data.frame(replicate = 0, t_overlap = b$t0[1], t_iptw = b$t0[2], glm_warned = b$t0[3])
write_ref(rbind(t0, boot_rows), "propensity_boot_r.csv", script, "boot")
index_frame <- data.frame(replicate = seq_len(nrow(idx)), idx)
names(index_frame) <- c("replicate", paste0("r", seq_len(ncol(idx))))
write_ref(index_frame, "propensity_boot_index_r.csv", script, "boot")
# Replicates where glm warned (fitted probabilities numerically 0 or 1: a pattern level held no treated patient
# in the resample, quasi-complete separation) are kept, as boot keeps them: the separated patients get ps 0 and
# overlap weight 0 (the limit of the fit), which the test checks by hand on one of them.
# Percentile limits as quantile(type = 7) of all replicates (what ipafstudy reports), and boot.ci's own "perc"
# (order-statistic interpolation), which differs by O(1/R).
q <- quantile(boot_rows$t_overlap, c(0.025, 0.975), type = 7)
bc <- boot.ci(b, type = "perc", index = 1)$percent[4:5]
write_ref(data.frame(statistic = "overlap", n_boot = nrow(boot_rows), n_warned = sum(boot_rows$glm_warned),
                     q7_low = q[1], q7_high = q[2], bootci_low = bc[1], bootci_high = bc[2]),
          "propensity_boot_ci_r.csv", script, "boot")
