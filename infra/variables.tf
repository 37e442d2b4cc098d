# SPDX-License-Identifier: Apache-2.0

variable "env" {
  description = "Environment name: part of every resource name, and the API Gateway stage (the URL's first path segment)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.env))
    error_message = "env must be 1 to 20 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "region" {
  description = "AWS region for every resource."
  type        = string
  default     = "us-east-1"
}

variable "table_name" {
  description = "DynamoDB table name; null means \"mod-items-<env>\"."
  type        = string
  default     = null
}

variable "image_tag" {
  description = <<-EOT
    Tag of the image in this environment's ECR repository that the function runs
    (the Dockerfile's "lambda" target). Tags are immutable, so a tag names one build:
    the default is the release in configure.ac; pass -var image_tag=<git sha> for others.
  EOT
  type        = string
  default     = "0.1.0"

  validation {
    condition     = var.image_tag != "latest" && can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a concrete, valid tag (e.g. 0.1.0 or a git sha), not \"latest\"."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of the Lambda function in MB (CPU grows with it)."
  type        = number
  default     = 512

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be from 128 to 10240."
  }
}

variable "lambda_timeout_s" {
  description = "Lambda timeout in seconds: below API Gateway's 30 s integration limit, above ItemsTimeout (10 s)."
  type        = number
  default     = 15

  validation {
    condition     = var.lambda_timeout_s >= 1 && var.lambda_timeout_s < 30
    error_message = "lambda_timeout_s must be from 1 to 29: API Gateway gives up after 30 s."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's and the API's logs."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "localstack" {
  description = "Send every AWS call to LocalStack at localstack_endpoint instead of AWS (see README.md)."
  type        = bool
  default     = false
}

variable "localstack_endpoint" {
  description = "LocalStack's edge URL, used when localstack is true."
  type        = string
  default     = "http://localhost:4566"
}
