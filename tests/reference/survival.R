# Reference values for Kaplan-Meier (log-log CI, median with Brookmeyer-Crowley limits) and exact Poisson rates.
# Run as: Rscript tests/reference/survival.R
# Writes survival_data.csv (the datasets), survival_km_r.csv (one row per distinct time, as summary(censored=TRUE)),
# survival_median_r.csv (quantile(fit, 0.5) = what print(fit) shows) and poisson_r.csv (poisson.test(x, T)$conf.int).
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "survival.R"

lung_data <- survival::lung
datasets <- list(
  basic = list(time = c(1, 2, 2, 3, 4, 5), event = c(0, 1, 0, 1, 1, 0)),
  # events and censorings tied at 3 and 7; three events tied at 5
  ties = list(time = c(3, 3, 3, 5, 5, 5, 6, 7, 7, 9, 12, 12),
              event = c(1, 0, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0)),
  all_censored = list(time = c(4, 8, 8, 15), event = c(0, 0, 0, 0)),
  one_patient_event = list(time = c(30), event = c(1)),
  one_patient_censored = list(time = c(30), event = c(0)),
  n2_events = list(time = c(10, 20), event = c(1, 1)),
  n2_mixed = list(time = c(10, 20), event = c(1, 0)),
  # S reaches exactly 0.5 at 3 and stays there until 5: the median is the midpoint 4
  plateau_half = list(time = c(1, 2, 3, 4, 5, 6), event = c(1, 1, 1, 0, 1, 0)),
  # the curve ends exactly at 0.5: print() gives the time it reached 0.5 (2), quantile() the midpoint with the
  # last time ((2 + 4) / 2 = 3)
  ends_at_half = list(time = c(1, 2, 3, 4), event = c(1, 1, 0, 0)),
  zero_time = list(time = c(0, 0, 2, 5, 5, 8, 11), event = c(1, 0, 1, 1, 0, 1, 0)),
  all_events = list(time = c(2, 4, 4, 6, 9), event = c(1, 1, 1, 1, 1)),
  lung = list(time = lung_data$time, event = as.numeric(lung_data$status == 2))
)
data_rows <- do.call(rbind, lapply(names(datasets), function(nm) {
  d <- datasets[[nm]]
  data.frame(dataset = nm, time = d$time, event = d$event)
}))
write_ref(data_rows, "survival_data.csv", script, "survival")

km_rows <- list()
med_rows <- list()
for (nm in names(datasets)) {
  d <- datasets[[nm]]
  fit <- survfit(Surv(d$time, d$event) ~ 1, conf.type = "log-log")
  km_rows[[nm]] <- data.frame(dataset = nm, time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
                              n_censor = fit$n.censor, surv = fit$surv, std_err = fit$std.err,
                              lower = fit$lower, upper = fit$upper)
  q <- quantile(fit, probs = 0.5)
  tab <- summary(fit)$table
  med_rows[[nm]] <- data.frame(dataset = nm, n = unname(tab["n.start"]), events = unname(tab["events"]),
                               median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper),
                               print_median = unname(tab["median"]), print_lcl = unname(tab["0.95LCL"]),
                               print_ucl = unname(tab["0.95UCL"]))
}
write_ref(do.call(rbind, km_rows), "survival_km_r.csv", script, "survival")
write_ref(do.call(rbind, med_rows), "survival_median_r.csv", script, "survival")

# numbers at risk at chosen times (the table under a KM figure): summary(fit, times=, extend=TRUE)$n.risk
risk_rows <- list()
for (nm in c("basic", "ties", "lung")) {
  d <- datasets[[nm]]
  fit <- survfit(Surv(d$time, d$event) ~ 1, conf.type = "log-log")
  at <- if (nm == "lung") c(0, 100, 200, 365, 500, 730, 1000, 1100) else c(0, 2, 3, 5, 7, 12, 20)
  s <- summary(fit, times = at, extend = TRUE)
  risk_rows[[nm]] <- data.frame(dataset = nm, time = s$time, n_risk = s$n.risk, surv = s$surv)
}
write_ref(do.call(rbind, risk_rows), "survival_at_risk_r.csv", script, "survival")

# exact Poisson (Garwood) confidence limits of a rate: x events in T patient-years
cases <- data.frame(x = c(0, 0, 1, 2, 5, 12, 100, 3), t = c(10, 0.37, 2.5, 48.3, 37.2, 48.3, 250, 7.25),
                    conf = c(0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.90))
pois_rows <- lapply(seq_len(nrow(cases)), function(i) {
  res <- poisson.test(cases$x[i], cases$t[i], conf.level = cases$conf[i])
  data.frame(x = cases$x[i], t = cases$t[i], conf = cases$conf[i], rate = unname(res$estimate),
             lower = res$conf.int[1], upper = res$conf.int[2])
})
write_ref(do.call(rbind, pois_rows), "poisson_r.csv", script)
