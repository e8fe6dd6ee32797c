# Reference values for quartiles (Hyndman-Fan types 6 and 7, Tukey hinges) and Shapiro-Wilk.
# Run as: Rscript tests/reference/descriptive.R   (writes descriptive_data.csv and descriptive_r.csv here)
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "descriptive.R"

vectors <- list(
  ties = c(0, 1, 1, 2, 2, 2, 3, 3, 5, 8),
  odd = c(12.5, 3.1, 7.7, 9.9, 4.2, 15.0, 6.6),
  n1 = c(4),
  n2 = c(1, 9),
  n3 = c(2, 7, 3),
  n4 = c(1, 2, 3, 4),
  all_equal = c(5, 5, 5, 5, 5),
  missing = c(3.2, NA, 1.5, 8.8, NA, 4.4, 6.1, 2.9),
  skewed = c(0.2, 0.3, 0.3, 0.5, 0.8, 1.1, 1.9, 2.4, 4.7, 9.6, 15.2, 0.4, 0.6)
)
data_rows <- do.call(rbind, lapply(names(vectors), function(nm) {
  data.frame(dataset = nm, position = seq_along(vectors[[nm]]), value = vectors[[nm]])
}))
write_ref(data_rows, "descriptive_data.csv", script)

rows <- lapply(names(vectors), function(nm) {
  x <- vectors[[nm]]
  q6 <- quantile(x, c(0.25, 0.5, 0.75), type = 6, na.rm = TRUE, names = FALSE)
  q7 <- quantile(x, c(0.25, 0.5, 0.75), type = 7, na.rm = TRUE, names = FALSE)
  f5 <- fivenum(x, na.rm = TRUE)
  p10_90_6 <- quantile(x, c(0.1, 0.9), type = 6, na.rm = TRUE, names = FALSE)
  p10_90_7 <- quantile(x, c(0.1, 0.9), type = 7, na.rm = TRUE, names = FALSE)
  xs <- x[!is.na(x)]
  sw <- tryCatch(shapiro.test(xs), error = function(e) NULL)
  data.frame(dataset = nm, n = length(xs), n_missing = sum(is.na(x)),
             q1_type6 = q6[1], median_type6 = q6[2], q3_type6 = q6[3],
             q1_type7 = q7[1], median_type7 = q7[2], q3_type7 = q7[3],
             q1_fivenum = f5[2], median_fivenum = f5[3], q3_fivenum = f5[4],
             p10_type6 = p10_90_6[1], p90_type6 = p10_90_6[2], p10_type7 = p10_90_7[1], p90_type7 = p10_90_7[2],
             mean = mean(xs), sd = if (length(xs) > 1) sd(xs) else NA,
             shapiro_w = if (is.null(sw)) NA else unname(sw$statistic),
             shapiro_p = if (is.null(sw)) NA else sw$p.value)
})
write_ref(do.call(rbind, rows), "descriptive_r.csv", script)
