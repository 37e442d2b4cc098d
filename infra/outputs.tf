# SPDX-License-Identifier: Apache-2.0

output "api_url" {
  description = "Base URL of the API (stage included): the items are at <api_url>/items/."
  value       = aws_apigatewayv2_stage.api.invoke_url
}

output "dynamodb_table_name" {
  description = "Name of the items table."
  value       = aws_dynamodb_table.items.name
}

output "lambda_function_arn" {
  description = "ARN of the function serving the API."
  value       = aws_lambda_function.api.arn
}

output "api_id" {
  description = "ID of the API Gateway HTTP API."
  value       = aws_apigatewayv2_api.api.id
}
