# Reference values for the regression options of issue 10 item 4: HC3 robust standard errors,
# the Breusch-Pagan statistic by its formula (Koenker studentised vs the original 1979 form), and
# the residual diagnostics drawn in the supplementary figure (fitted, residuals, standardised
# residuals, normal Q-Q positions).
# HC3 is computed twice: with base matrices only (the formula) and with car::hccm(type = "hc3").
# t, p and CI use the t distribution with the residual df (as lmtest::coeftest does).
# Run as: Rscript tests/reference/regression_hc3.R
#   (reads regression_data.csv; writes regression_hc3_r.csv, regression_bp_r.csv, regression_diagnostics_r.csv,
#    regression_diagnostics_lev1_r.csv)
suppressMessages({library(car); library(lmtest)})
args <- commandArgs(trailingOnly = FALSE)
source(file.path(dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)]))), "_common.R"))
script <- "regression_hc3.R"

frame <- read.csv(file.path(ref_dir, "regression_data.csv"), comment.char = "#")
preds <- c("base_consolidation", "base_ggo", "smoking", "base_total")
fit <- lm(delta_total ~ base_consolidation + base_ggo + smoking + base_total, data = frame)
mf <- model.frame(fit)
X <- model.matrix(fit)
y <- model.response(mf)
n <- nrow(X); k <- ncol(X) - 1; df <- n - k - 1
xtx_inv <- solve(crossprod(X))
b <- drop(xtx_inv %*% crossprod(X, y))
e <- drop(y - X %*% b)
h <- rowSums((X %*% xtx_inv) * X)
meat <- crossprod(X * (e / (1 - h)))           # X' diag(e^2 / (1 - h)^2) X
hc3 <- xtx_inv %*% meat %*% xtx_inv
se <- sqrt(diag(hc3))
se_car <- sqrt(diag(hccm(fit, type = "hc3")))
tval <- b / se
q <- qt(0.975, df)
write_ref(data.frame(term = c("Intercept", preds), b = b, se_hc3 = se, se_hc3_car = unname(se_car), t = tval,
                     p = 2 * pt(-abs(tval), df), ci_low = b - q * se, ci_high = b + q * se, df = df),
          "regression_hc3_r.csv", script, c("car", "lmtest"))

# Breusch-Pagan on the model's predictors. Koenker (studentised): n * R^2 of e^2 on X.
# Original (Breusch & Pagan 1979): half the explained sum of squares of e^2 / (RSS / n) on X.
u <- e^2
koenker <- n * summary(lm(u ~ X[, -1]))$r.squared
g <- u / (sum(u) / n)
orig <- sum((fitted(lm(g ~ X - 1)) - mean(g))^2) / 2
lm_k <- bptest(fit, studentize = TRUE)
lm_o <- bptest(fit, studentize = FALSE)
write_ref(data.frame(df = k, koenker_formula = koenker, koenker_p = pchisq(koenker, k, lower.tail = FALSE),
                     koenker_lmtest = unname(lm_k$statistic), original_formula = orig,
                     original_p = pchisq(orig, k, lower.tail = FALSE), original_lmtest = unname(lm_o$statistic)),
          "regression_bp_r.csv", script, c("car", "lmtest"))

# Residual diagnostics (plot.lm panels 1 and 2): raw residuals against fitted values; standardised
# residuals e / (s * sqrt(1 - h)) against qnorm(ppoints(n)) in sorted order.
std <- rstandard(fit)
qq <- qqnorm(std, plot.it = FALSE)
write_ref(data.frame(row = as.integer(rownames(mf)), fitted = unname(fitted(fit)), residual = unname(residuals(fit)),
                     standardized = unname(std), leverage = unname(hatvalues(fit)), qq_theoretical = unname(qq$x)),
          "regression_diagnostics_r.csv", script, c("car", "lmtest"))

# The same model with a single smoker (row 2): that case has leverage 1, R's lm.influence sets its
# residual to 0, rstandard gives NaN and qqnorm leaves it out (NA) and uses ppoints(n - 1).
lev1 <- frame
lev1$smoking <- 0
lev1$smoking[2] <- 1
fit1 <- lm(delta_total ~ base_consolidation + base_ggo + smoking + base_total, data = lev1)
std1 <- rstandard(fit1)
qq1 <- qqnorm(std1, plot.it = FALSE)
write_ref(data.frame(row = as.integer(names(std1)), leverage = unname(hatvalues(fit1)), standardized = unname(std1),
                     qq_theoretical = unname(qq1$x)),
          "regression_diagnostics_lev1_r.csv", script, c("car", "lmtest"))
