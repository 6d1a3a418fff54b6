terraform {
  required_providers {
    ext = {
      source = "hashicorp/ext${"ern"}al"
    }
  }
}
