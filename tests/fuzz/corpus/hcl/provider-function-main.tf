terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

output "acct" {
  value = provider::aws::arn_parse("arn:aws:iam::123456789012:role/x").account_id
}

output "other" {
  value = provider::corefunc::str_snake("Hello World")
}
