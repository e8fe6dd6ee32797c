# Kaplan-Meier and exposure-adjusted incidence of the bundled cohort, recomputed with R survival and stats.
# Inputs (written by the cohort code; tests/analysis/test_safety_against_r.py checks they still regenerate):
#   safety_bundled_tte.csv (one row per analysed patient and endpoint: time_days, event),
#   safety_bundled_exposure.csv (exposure_days per analysed patient), safety_bundled_episodes.csv (on-treatment
#   adverse-event episodes). Refresh: python tests/analysis/safety_bundled.py tests/reference, then run this.
# Run as: Rscript tests/reference/safety_bundled.R  (writes safety_bundled_km_r.csv, safety_bundled_risk_r.csv,
#   safety_bundled_incidence_r.csv)
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "safety_bundled.R"
days_per_month <- 365.25 / 12

tte <- read.csv(file.path(ref_dir, "safety_bundled_tte.csv"), na.strings = "", stringsAsFactors = FALSE)
tte$event_type[is.na(tte$event_type)] <- ""
tte$key <- ifelse(tte$event_type == "", tte$endpoint, paste0(tte$endpoint, ":", tte$event_type))
km_rows <- list()
risk_rows <- list()
for (key in unique(tte$key)) {
  d <- tte[tte$key == key, ]
  months <- d$time_days / days_per_month
  fit <- survfit(Surv(months, d$event) ~ 1, conf.type = "log-log")
  tab <- summary(fit)$table
  km_rows[[key]] <- data.frame(key = key, n = unname(tab["n.start"]), events = unname(tab["events"]),
                               median = unname(tab["median"]), lower = unname(tab["0.95LCL"]),
                               upper = unname(tab["0.95UCL"]))
  at <- seq(0, 24, by = 6)
  s <- summary(fit, times = at, extend = TRUE)
  risk_rows[[key]] <- data.frame(key = key, months = s$time, n_risk = s$n.risk, surv = s$surv)
}
write_ref(do.call(rbind, km_rows), "safety_bundled_km_r.csv", script, "survival")
write_ref(do.call(rbind, risk_rows), "safety_bundled_risk_r.csv", script, "survival")

expo <- read.csv(file.path(ref_dir, "safety_bundled_exposure.csv"), stringsAsFactors = FALSE)
episodes <- read.csv(file.path(ref_dir, "safety_bundled_episodes.csv"), stringsAsFactors = FALSE)
py <- sum(expo$exposure_days) / 365.25
types <- c("any", "hypomagnesaemia", "infection", "renal_insufficiency", "gastrointestinal_discomfort",
           "hypertension", "hyperglycaemia", "tremor", "other")
inc_rows <- lapply(types, function(type) {
  sub <- if (type == "any") episodes else episodes[episodes$event == type, ]
  x <- nrow(sub)
  res <- poisson.test(x, py)
  data.frame(event = type, patients = length(unique(sub$patient_id)), episodes = x, patient_years = py,
             rate = 100 * unname(res$estimate), lower = 100 * res$conf.int[1], upper = 100 * res$conf.int[2])
})
write_ref(do.call(rbind, inc_rows), "safety_bundled_incidence_r.csv", script)
