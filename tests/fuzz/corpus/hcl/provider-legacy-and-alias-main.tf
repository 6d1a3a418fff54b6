terraform {
  required_providers {
    google = "~> 4.0"
  }
}

provider "random" {}

resource "aws_instance" "i" {
  provider = null.west
  ami      = "ami-1"
}
