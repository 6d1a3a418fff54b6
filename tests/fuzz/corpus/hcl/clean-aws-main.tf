terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

resource "aws_s3_bucket" "b" {
  bucket = "example-${var.suffix}"
  tags   = { Name = "x", "provisioner" = "local-exec" }
}

variable "suffix" {
  default = "a"
}

resource "terraform_data" "t" {
  input = [for s in ["a", "b"] : upper(s)]
}
