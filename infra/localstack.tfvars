# SPDX-License-Identifier: Apache-2.0
# The LocalStack variant: terraform apply -var-file=localstack.tfvars (see README.md).
localstack          = true
localstack_endpoint = "http://localhost:4566"
env                 = "local"
