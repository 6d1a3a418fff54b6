terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
resource "terraform_data" "a" {
  provisioner local-exec {
    command = "echo hi"
  }
}
module "m" {
  source = "./mod"
}
locals {
  x = <<EOT
provisioner "local-exec" {
EOT
}
