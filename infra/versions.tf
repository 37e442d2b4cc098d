# SPDX-License-Identifier: Apache-2.0

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  # The LocalStack variant (-var-file=localstack.tfvars): every service this
  # configuration calls goes to var.localstack_endpoint, with LocalStack's
  # fixed credentials and none of the checks that need real AWS.
  access_key                  = var.localstack ? "test" : null
  secret_key                  = var.localstack ? "test" : null
  skip_credentials_validation = var.localstack
  skip_metadata_api_check     = var.localstack
  skip_requesting_account_id  = var.localstack

  dynamic "endpoints" {
    for_each = var.localstack ? [var.localstack_endpoint] : []
    content {
      apigatewayv2 = endpoints.value
      dynamodb     = endpoints.value
      ecr          = endpoints.value
      iam          = endpoints.value
      kms          = endpoints.value
      lambda       = endpoints.value
      logs         = endpoints.value
      sts          = endpoints.value
    }
  }

  default_tags {
    tags = {
      Project     = "mod_items"
      Environment = var.env
      ManagedBy   = "terraform"
    }
  }
}
